// Looking inside a run: the embedding projector (any run) and the recommendations try-it (runs on
// `ratings` with a recommender layer). Each is a section below the stage; a strip on the stage
// opens the one that fits the design ("Project", "Try it"), the way a
// learner finds them while the run trains: in the row of "Step through" under the network,
// which it shares without growing, so the stage never moves (tests/browser/
// test_watchable_stage.py) and the strip is on screen at every size. Called after stepThrough.

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
  // Recommendations first: on a recommender run it is the try-it the lesson points to.
  const recommendRoot = addDeeperSection({ id: 'recommend-section', title: 'Recommendations', element: null });
  const projectorRoot = addDeeperSection({ id: 'projector-section', title: 'Embedding projector', element: null });
  projectorRoot.classList.add('insight-section');
  recommendRoot.classList.add('insight-section');
  const projector = projectorView({ root: projectorRoot });
  const recommend = recommendView({ root: recommendRoot });

  const openProjector = h('button', { type: 'button', id: 'open-projector', title: 'Embedding projector: each validation example as a dot, placed by what a layer makes of it' }, 'Project ▾');
  const openRecommend = h('button', { type: 'button', id: 'open-recommend', title: 'Recommendations: pick a user and see the items the network would recommend' }, 'Try it ▾');
  const strip = h('div', { class: 'insight-strip', id: 'insight-strip', role: 'group', 'aria-label': 'Look inside the network' }, openRecommend, openProjector);
  const stepToggle = $('step-mode');
  if (stepToggle) stepToggle.after(strip);
  else $('model-column').append(strip);
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
    const rec = isRecommender(exp);
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
