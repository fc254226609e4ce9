// Looking inside a run: the embedding projector (any run) and the recommendations try-it (runs on
// `ratings` with a recommender layer). Each is a section below the stage; a strip on the stage
// opens the one that fits the run ("Project the data", "Try it: recommend"), the way a learner
// finds them while the run trains: at the top of the output column, on screen at every size
// without scrolling.

import { h } from '../util/dom.js';
import { addDeeperSection } from '../widgets/deeper-views.js';
import { projectorView } from '../widgets/projector-view.js';
import { recommendView } from '../widgets/recommend-view.js';

const $ = (id) => document.getElementById(id);

/** A recommender design: the ratings set and a recommender layer (what the try-it needs). */
export function isRecommender(experiment) {
  return experiment?.dataset?.name === 'ratings' && (experiment?.model?.layers || []).some((l) => l.type === 'recommender');
}

/** insightFlow(page): fills page.insight = {update(session)}; run-flow calls it on each event. */
export function insightFlow(page) {
  const projectorRoot = addDeeperSection({ id: 'projector-section', title: 'Projector', element: null });
  const recommendRoot = addDeeperSection({ id: 'recommend-section', title: 'Recommendations', element: null });
  projectorRoot.classList.add('insight-section');
  recommendRoot.classList.add('insight-section');
  const projector = projectorView({ root: projectorRoot });
  const recommend = recommendView({ root: recommendRoot });

  const openProjector = h('button', { type: 'button', id: 'open-projector', title: 'Each validation example as a dot, placed by what a layer makes of it' }, 'Project the data ▾');
  const openRecommend = h('button', { type: 'button', id: 'open-recommend', title: 'Pick a user and see what the network recommends' }, 'Try it: recommend ▾');
  const strip = h('div', { class: 'insight-strip', id: 'insight-strip', role: 'group', 'aria-label': 'Look inside this run', hidden: true }, h('span', { class: 'muted' }, 'Look inside:'), openRecommend, openProjector);
  $('output-views').before(strip);
  const jump = (section) => {
    section.hidden = false;
    section.scrollIntoView({ block: 'start' });
    section.querySelector('h2')?.setAttribute('tabindex', '-1');
    section.querySelector('h2')?.focus({ preventScroll: true });
  };
  openProjector.addEventListener('click', () => jump(projectorRoot));
  openRecommend.addEventListener('click', () => jump(recommendRoot));

  function update(s) {
    const exp = s.experiment || page.experiment();
    const hasRun = Boolean(s.runId) && !['failed', 'diverged', 'idle', 'error'].includes(s.status);
    const rec = isRecommender(exp);
    strip.hidden = !hasRun;
    openRecommend.hidden = !rec;
    recommendRoot.hidden = !rec;
    const link = document.querySelector('.deeper-link[data-section="recommend-section"]');
    if (link) link.hidden = !rec; // the bar of sections below names it only when it applies
    const dataset = page.datasetOf?.(exp?.dataset?.name);
    projector.update(s, dataset);
    if (rec) recommend.update(s);
  }

  page.insight = { update, redraw: () => (projector.redraw(), recommend.redraw()) };
}
